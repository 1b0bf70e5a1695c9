"""``python -m adapters.cli``."""

from adapters.cli import main

if __name__ == "__main__":
    main()
