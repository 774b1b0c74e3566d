"""The pages of Corroborate for people in a browser: Jinja2 templates (``templates/``), small
scripts and the vendored third-party files (``static/``, reproducible from ``vendor/``'s npm lock).

Nothing here loads from another origin at run time, and ``make run`` needs no Node."""
