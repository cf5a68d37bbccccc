"""``python -m datagora``: the same command line as the ``datagora`` console script."""

from datagora.cli.main import main

if __name__ == "__main__":
    main()
