"""A call's life and state: open and end, the encrypted session store, events, selectors, access log, BAA gate."""
