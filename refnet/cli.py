"""The `refnet` command: Django's management commands under one name.

    refnet serve | refnet demo | refnet seed --partners N --referrals M | refnet migrate ...
"""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "refnet.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(["refnet", *sys.argv[1:]])


if __name__ == "__main__":
    main()
