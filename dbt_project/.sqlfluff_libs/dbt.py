"""Stand-ins for dbt's cross-database macros (``dbt.hash`` …) when sqlfluff renders the models with
its jinja templater: plausible DuckDB SQL, for parsing only (dbt renders the real thing)."""


def hash(expr):  # noqa: A001 (dbt's name)
    return f"md5(cast({expr} as varchar))"


def concat(fields):
    return "concat(" + ", ".join(fields) + ")"


def cast(expr, type_):
    return f"cast({expr} as {type_})"


def type_string():
    return "varchar"


def dateadd(datepart, interval, from_date_or_timestamp):
    return f"date_add({from_date_or_timestamp}, {interval})"
