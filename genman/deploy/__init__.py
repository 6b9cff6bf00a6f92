"""genman deploy: one profile per host, built here, copied and activated over OpenSSH.

inventory (hosts.toml) and ansible (INI/YAML inventories) -> Host; facts (one round trip
per host); build (into a local store); ssh (argv lists for the one subprocess seam); copy
(only the store paths the target lacks); rollout (the pure plan); runner (per-host steps
and the bounded pool); target (what `genman remote` does on the target); report (the
table).
"""
