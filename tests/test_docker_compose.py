"""docker-compose.yml cannot be started here (no Docker engine): check it statically."""

from __future__ import annotations

import re
import tomllib

import pytest
import yaml

from dvk.settings import PROJECT_ROOT

COMPOSE = PROJECT_ROOT / "docker-compose.yml"
SECRET_KEYS = (
    "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN",
    "AIRFLOW__CORE__FERNET_KEY",
    "AIRFLOW__API_AUTH__JWT_SECRET",
    "AIRFLOW__API__SECRET_KEY",
    "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS",
)


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def test_airflow3_services_with_postgres(compose):
    services = compose["services"]
    for name in ("postgres", "airflow-init", "airflow-apiserver", "airflow-scheduler",
                 "airflow-dag-processor", "airflow-triggerer"):
        assert name in services, name
    assert services["airflow-apiserver"]["command"] == "api-server"
    assert services["airflow-dag-processor"]["command"] == "dag-processor"
    assert services["postgres"]["image"].startswith("postgres:")
    for name, service in services.items():
        if name.startswith("airflow-") and name != "airflow-init":
            depends = service.get("depends_on", {})
            assert depends.get("postgres", {}).get("condition") == "service_healthy", name


def test_metadata_db_is_postgres_and_executor_local(compose):
    env = compose["services"]["airflow-scheduler"]["environment"]
    assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].startswith("postgresql+psycopg2://")
    assert env["AIRFLOW__CORE__EXECUTOR"] == "LocalExecutor"
    assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"].startswith("http://airflow-apiserver:8080/")


def test_credentials_come_from_environment_without_defaults(compose):
    text = COMPOSE.read_text()
    assert "admin:admin" not in text
    for service in compose["services"].values():
        for key, value in (service.get("environment") or {}).items():
            if any(word in key for word in ("PASSWORD", "SECRET", "FERNET")) and not key.endswith("_FILE"):
                assert str(value).startswith("${"), f"{key} has a literal value"
    env = compose["services"]["airflow-scheduler"]["environment"]
    for key in SECRET_KEYS:
        # ${VAR:?message}: compose refuses to start when the variable is unset or empty.
        assert re.search(r"\$\{[A-Z_]+:\?", env[key]), key
    pg = compose["services"]["postgres"]["environment"]["POSTGRES_PASSWORD"]
    assert pg.startswith("${POSTGRES_PASSWORD:?")


def test_project_mounted_and_settings_point_into_it(compose):
    service = compose["services"]["airflow-scheduler"]
    mounts = [re.fullmatch(r"(.+):(/[^:]*)(?::ro|:rw)?", v).groups() for v in service["volumes"]]
    assert (".", "/opt/dvk") in mounts
    env = service["environment"]
    assert env["AIRFLOW__CORE__DAGS_FOLDER"] == "/opt/dvk/dags"
    for key in ("DVK_INBOX_DIR", "DVK_WAREHOUSE", "DVK_REPORTS_DIR", "DVK_PUBLISHED_DIR"):
        assert env[key].startswith("/data/"), key
    assert any(dst == "/data" for _, dst in mounts)


def test_image_matches_locked_airflow_version():
    pyproject = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())
    pin = next(d for d in pyproject["project"]["dependencies"] if d.startswith("apache-airflow=="))
    version = pin.split("==")[1]
    dockerfile = (PROJECT_ROOT / "Dockerfile").read_text()
    assert f"FROM apache/airflow:{version}-python3.11" in dockerfile
    assert "uv export --frozen" in dockerfile


def test_no_env_file_committed():
    assert (PROJECT_ROOT / ".env.example").exists()
    gitignore = (PROJECT_ROOT / ".gitignore").read_text().splitlines()
    assert ".env" in gitignore


CELERY = PROJECT_ROOT / "docker-compose.celery.yml"


def test_init_creates_the_data_folders_for_the_services_user(compose):
    init = compose["services"]["airflow-init"]
    script = "\n".join(init["command"])
    assert init["user"] == "0:0"
    folders = ("/data/inbox", "/data/warehouse", "/data/reports", "/data/quarantine", "/data/published")
    assert all(f in script for f in folders)
    # ... and hands them to the user the other services run as (they could not write them before)
    services_user = compose["services"]["airflow-scheduler"]["user"]
    assert services_user.startswith("${AIRFLOW_UID:-50000}")
    chown = next(line for line in script.splitlines() if line.strip().startswith("chown"))
    assert '"${AIRFLOW_UID:-50000}:0"' in chown and "/data" in chown and "/opt/airflow/home" in chown
    assert script.index("mkdir") < script.index("chown") < script.index("airflow db migrate")
    assert "airflow pools set dvk_warehouse 1" in script


def test_api_port_is_bound_to_loopback_by_default(compose):
    ports = compose["services"]["airflow-apiserver"]["ports"]
    assert ports == ["${AIRFLOW_BIND:-127.0.0.1}:${AIRFLOW_PORT:-8080}:8080"]
    for name, service in compose["services"].items():
        if name != "airflow-apiserver":
            assert "ports" not in service, name


@pytest.fixture(scope="module")
def celery() -> dict:
    return yaml.safe_load(CELERY.read_text())


def test_celery_variant_adds_redis_and_a_worker(celery, compose):
    services = celery["services"]
    assert services["redis"]["image"].startswith("redis:")
    assert "ports" not in services["redis"]  # reachable by the other containers only
    worker = services["airflow-worker"]
    assert worker["command"] == "celery worker"
    assert worker["extends"]["service"] in compose["services"]
    assert worker["depends_on"]["redis"]["condition"] == "service_healthy"
    # every Airflow service of the base file gets the same executor settings
    for name in compose["services"]:
        if name.startswith("airflow-"):
            env = services[name]["environment"]
            assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor", name
            assert env["AIRFLOW__CELERY__BROKER_URL"].startswith("redis://")
            assert env["AIRFLOW__CELERY__RESULT_BACKEND"].startswith("db+postgresql+psycopg2://"), name
            assert "${POSTGRES_PASSWORD:?" in env["AIRFLOW__CELERY__RESULT_BACKEND"]


def test_celery_and_postgres_drivers_are_locked():
    pyproject = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())
    deps = pyproject["project"]["dependencies"]
    celery_pin = next(d for d in deps if d.replace(" ", "").startswith("celery"))
    assert "<5.7" in celery_pin
    names = {re.split(r"[<>=!\[ ]", d, maxsplit=1)[0] for d in deps}
    assert {"apache-airflow-providers-celery", "redis", "psycopg2-binary", "asyncpg"} <= names
    lock = (PROJECT_ROOT / "uv.lock").read_text()
    version = re.search(r'name = "celery"\nversion = "([^"]+)"', lock).group(1)
    assert tuple(int(x) for x in version.split(".")[:2]) < (5, 7)
    for name in ("psycopg2-binary", "asyncpg", "apache-airflow-providers-celery", "redis", "playwright"):
        assert f'name = "{name}"' in lock, name


def test_env_example_names_every_variable_compose_needs():
    example = (PROJECT_ROOT / ".env.example").read_text()
    text = COMPOSE.read_text() + CELERY.read_text()
    needed = set(re.findall(r"\$\{([A-Z_]+):\?", text)) | {"AIRFLOW_BIND", "AIRFLOW_UID"}
    assert {v for v in needed if not re.search(rf"^{v}=", example, re.M)} == set()


# --- The PostgreSQL warehouse of the Celery variant -------------------------------------------

def _interpolate(value: str, env: dict[str, str]) -> str:
    """Compose's ``${VAR}``, ``${VAR:-default}`` and ``${VAR:?message}`` (``$$`` kept as ``$``)."""
    def one(match: re.Match) -> str:
        if match.group(0) == "$$":
            return "$"
        name, op, arg = match.group(1), match.group(2), match.group(3)
        if env.get(name):
            return env[name]
        if op == ":-":
            return arg
        if op == ":?":
            raise KeyError(f"{name}: {arg}")
        return ""
    return re.sub(r"\$\$|\$\{([A-Z_]+)(?:(:-|:\?)([^}]*))?\}", one, value)


def _merged(base: dict, override: dict) -> dict:
    """``docker compose -f base -f override config``'s merge, for what these files use: mappings
    (environment, depends_on) merge key by key, the override's scalars and lists win (ports,
    volumes and command are not combined here: the override sets none on a base service), and
    ``extends`` of the base file is resolved."""
    def merge(a, b):
        if isinstance(a, dict) and isinstance(b, dict):
            return {**a, **{k: merge(a[k], v) if k in a else v for k, v in b.items()}}
        return b

    services = {name: dict(s) for name, s in base["services"].items()}
    for name, service in override["services"].items():
        service = dict(service)
        extends = service.pop("extends", None)
        if extends:
            assert extends["file"] == "docker-compose.yml"
            parent = {k: v for k, v in base["services"][extends["service"]].items() if k != "depends_on"}
            service = merge(parent, service)
        services[name] = merge(services[name], service) if name in services else service
    for name in services:
        for key in ("ports", "volumes"):
            if key in override["services"].get(name, {}) and key in base["services"].get(name, {}):
                raise AssertionError(f"{name}.{key} in both files: compose would append, check by hand")
    return {"services": services, "volumes": {**base.get("volumes", {}), **override.get("volumes", {})}}


@pytest.fixture(scope="module")
def celery_merged(compose, celery) -> dict:
    return _merged(compose, celery)


def test_celery_variant_has_its_own_warehouse_postgres(celery, compose):
    db = celery["services"]["warehouse-db"]
    assert db["image"].startswith("postgres:")
    env = db["environment"]
    assert env["POSTGRES_PASSWORD"].startswith("${DVK_WAREHOUSE_PASSWORD:?")
    assert "--locale=C.UTF-8" in env["POSTGRES_INITDB_ARGS"] and "UTF8" in env["POSTGRES_INITDB_ARGS"]
    # a server of its own: not the metadata database's service, volume or password
    volumes = [v.split(":")[0] for v in db["volumes"]]
    assert volumes == ["warehouse-db-volume"] and "warehouse-db-volume" in celery["volumes"]
    assert "warehouse-db-volume" not in compose["volumes"]
    assert "POSTGRES_PASSWORD" not in env["POSTGRES_PASSWORD"].split(":?")[0]
    # published for BI tools and remote workers, on loopback unless DVK_WAREHOUSE_BIND says otherwise
    assert db["ports"] == ["${DVK_WAREHOUSE_BIND:-127.0.0.1}:${DVK_WAREHOUSE_PORT:-5432}:5432"]
    assert "pg_isready" in db["healthcheck"]["test"]


def test_every_airflow_service_gets_the_warehouse_url_from_env(celery_merged):
    from dvk.settings import parse_warehouse_url

    services = celery_merged["services"]
    db_env = services["warehouse-db"]["environment"]
    airflow = [name for name in services if name.startswith("airflow-")]
    assert "airflow-worker" in airflow and len(airflow) >= 7
    secrets = {"POSTGRES_PASSWORD": "meta-pw", "DVK_WAREHOUSE_PASSWORD": "wh-pw", "REDIS_PASSWORD": "r",
               "AIRFLOW_FERNET_KEY": "k", "AIRFLOW_JWT_SECRET": "j", "AIRFLOW_API_SECRET_KEY": "a",
               "AIRFLOW_ADMIN_USERNAME": "admin"}
    for name in airflow:
        env = services[name]["environment"]
        url = env["DVK_WAREHOUSE_URL"]
        assert "${DVK_WAREHOUSE_PASSWORD:?" in url, name  # no secret in the repo, no default
        pg = parse_warehouse_url(_interpolate(url, secrets))
        # ... and it names the server, user and database warehouse-db creates
        assert (pg.host, pg.port, pg.password) == ("warehouse-db", 5432, "wh-pw"), name
        assert pg.user == _interpolate(db_env["POSTGRES_USER"], secrets), name
        assert pg.dbname == _interpolate(db_env["POSTGRES_DB"], secrets), name
        assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor", name
        # the base file's settings survive the merge
        assert env["DVK_INBOX_DIR"] == "/data/inbox" and env["DVK_REPORTS_DIR"] == "/data/reports", name
        # on another machine the same file reaches the central services through *_HOST variables
        remote = parse_warehouse_url(_interpolate(url, {**secrets, "DVK_WAREHOUSE_HOST": "10.0.0.10:5433"}))
        assert (remote.host, remote.port) == ("10.0.0.10", 5433)
        for key in ("AIRFLOW__CELERY__BROKER_URL", "AIRFLOW__CELERY__RESULT_BACKEND",
                    "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", "AIRFLOW__CORE__EXECUTION_API_SERVER_URL"):
            central = _interpolate(env[key], secrets)
            moved = _interpolate(env[key], {**secrets, "POSTGRES_HOST": "10.0.0.10", "REDIS_HOST": "10.0.0.10",
                                            "AIRFLOW_API_HOST": "10.0.0.10"})
            assert "10.0.0.10" not in central and "10.0.0.10" in moved, (name, key)


def test_celery_worker_keeps_the_folders_and_waits_for_the_warehouse(celery_merged):
    worker = celery_merged["services"]["airflow-worker"]
    assert worker["command"] == "celery worker"
    assert worker["depends_on"]["warehouse-db"]["condition"] == "service_healthy"
    assert worker["depends_on"]["postgres"]["condition"] == "service_healthy"
    mounts = [re.fullmatch(r"(.+):(/[^:]*)(?::ro|:rw)?", v).groups() for v in worker["volumes"]]
    # inbox, quarantine, reports and the published manifest stay files under /data (shared
    # between machines: docs/deployment.md); the warehouse itself is no longer a file there
    assert ("${DVK_DATA_DIR:-./.local/compose}", "/data") in mounts
    env = worker["environment"]
    for key in ("DVK_INBOX_DIR", "DVK_QUARANTINE_DIR", "DVK_REPORTS_DIR", "DVK_PUBLISHED_DIR"):
        assert env[key].startswith("/data/"), key


def test_celery_file_holds_no_literal_secret(celery):
    text = CELERY.read_text()
    for service in celery["services"].values():
        env = service.get("environment") or {}
        for key, value in env.items():
            if any(word in key for word in ("PASSWORD", "SECRET", "FERNET")):
                assert str(value).startswith("${"), f"{key} has a literal value"
    for url in re.findall(r"[a-z+]+://[^\s'\"]+", text):
        if "@" in url:  # user:password@host: the password is always a required variable
            assert re.search(r":\$\{[A-Z_]+:\?[^}]*\}@", url), url


def test_interpolation_helper_refuses_a_missing_required_variable():
    assert _interpolate("a${X:-b}c$${Y}", {}) == "abc${Y}"
    with pytest.raises(KeyError):
        _interpolate("${DVK_WAREHOUSE_PASSWORD:?set it}", {})
