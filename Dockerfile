# Airflow image with the project's locked dependencies (uv.lock). Used by docker-compose.yml.
FROM apache/airflow:3.3.2-python3.11

COPY --chown=airflow:0 pyproject.toml uv.lock README.md /opt/dvk/
RUN pip install --no-cache-dir "uv==0.13.9" \
 && cd /opt/dvk \
 && uv export --frozen --no-dev --no-hashes --no-emit-project -o /tmp/requirements.txt \
 && pip install --no-cache-dir -r /tmp/requirements.txt \
 && rm /tmp/requirements.txt

# The project itself is mounted at /opt/dvk at run time (see docker-compose.yml).
ENV PYTHONPATH=/opt/dvk/src \
    DVK_PROJECT_ROOT=/opt/dvk
