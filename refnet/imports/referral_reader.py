"""The referral import's reader process (`python -m refnet.imports.referral_reader`): reads
and checks a large CSV while the importer writes (see referral_rows, "second process", and
refnet.pipe). Django is set up for its settings (time zone, the database's value formats);
this process never opens a database connection."""

import os


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "refnet.settings")
    import django

    django.setup()
    from refnet.pipe import child_options, child_serve

    from .referral_rows import reader_rows

    options = child_options()
    child_serve(lambda: reader_rows(options))


if __name__ == "__main__":
    main()
