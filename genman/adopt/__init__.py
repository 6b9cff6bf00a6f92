"""`genman import`: a profile directory written from a host as it is (genman.adopt.scan
decides what to take, genman.adopt.write writes it)."""
