"""genman deploy: one profile per host, built here, copied and activated over OpenSSH.

inventory (hosts.toml) and ansible (INI/YAML inventories) -> Host; facts (one round trip
per host); build (into a local store, with this genman as a store path) and keep (what
that store keeps); ssh (argv lists for the one subprocess seam); seed (the standard-library
script a target runs first) and ship (bringing genman to a target); copy (only the store
paths the target lacks); rollout (the pure plan); runner (per-host steps and the bounded
pool); dryrun (each host's own plan); target (what `genman remote` does on the target);
report (the table).
"""
