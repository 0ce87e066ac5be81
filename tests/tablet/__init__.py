"""The tablet: the worker's steps, in a browser too, and its live lists."""
