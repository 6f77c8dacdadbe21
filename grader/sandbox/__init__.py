"""Running untrusted student code: the worker process, the pipe to it, and the sandbox tiers."""
