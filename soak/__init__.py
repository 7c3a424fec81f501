"""The soak test: ``python soak/run.py --minutes N`` or ``nox -s soak -- N`` (see run.py)."""
