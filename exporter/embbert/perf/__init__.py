"""make bench / make bench-peers: instruction counts, host timings, peers, the reports."""
