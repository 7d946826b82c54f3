"""Alert delivery: the event document handlers send, and the handlers themselves."""
