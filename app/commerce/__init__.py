"""Commerce: what the shop system tells us about a customer (orders, subscriptions, segments)."""
