const form = document.getElementById("login");
form.addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const err = document.getElementById("login-error");
  err.textContent = "";
  const body = { username: form.username.value, password: form.password.value };
  const r = await fetch("/api/auth/login", {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
    credentials: "same-origin",
  });
  if (r.ok) { location.href = form.dataset.next || "/"; return; }
  let msg = r.status === 429 ? "Too many failed attempts; wait a minute." : "Wrong user name or password.";
  if (r.status >= 500) msg = "The server failed (" + r.status + ").";
  err.textContent = msg;
  form.password.value = "";
  form.password.focus();
});
