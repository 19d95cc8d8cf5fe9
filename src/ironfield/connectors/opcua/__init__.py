"""OPC UA client connector: subscriptions into batches, write-back confirmed by read-back."""
