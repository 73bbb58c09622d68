"""Stand-in for dbt's ``adapter`` when sqlfluff renders the models (no database at lint time)."""

import re


def get_columns_in_relation(relation):
    return []


def dispatch(macro_name, macro_namespace=None):
    """``adapter.dispatch('x', 'dvk')(args)``: at lint time a call ``x(args)`` stands in for what
    the engine's implementation renders (dbt renders the real SQL; sqlfluff only parses)."""

    def sql(arg):  # a column or expression as it is; anything else (a pattern, a format) as a literal
        text = str(arg)
        return text if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.]*|[0-9.]+", text) else "'" + text.replace("'", "''") + "'"

    def render(*args, **kwargs):
        return f"{macro_name}(" + ", ".join(sql(a) for a in [*args, *kwargs.values()]) + ")"

    return render
