"""A person's contact channels: verified email and phone (codes sent by the worker), push
devices, and the notification preferences security alerts are routed by."""
