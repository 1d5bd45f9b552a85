"""`python -m monitor` is the same as the `mention-monitor` command."""

from __future__ import annotations

from monitor.cli import main

if __name__ == "__main__":
    main()
