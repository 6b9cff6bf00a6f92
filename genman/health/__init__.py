"""Health checks, generation states, confirmed switches and boot counting.

config   the profile's [health] table
checks   running checks and keeping their results per boot
state    pending / trying / good / failed, kept under /var/lib/genman/health
confirm  `switch --confirm-within`: the detached watcher and `genman confirm`
"""
