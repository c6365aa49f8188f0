"""Framework adapters (Optuna, Ray Tune), imported lazily so the core needs neither."""
