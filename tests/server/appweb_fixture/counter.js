document.title = "counter";
