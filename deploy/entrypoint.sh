#!/bin/sh
# The image's entry point (deploy/Dockerfile); also usable outside a container with the hub's venv on PATH.
#   web        gunicorn with the checkout's gunicorn.conf.py (HUB_BIND, WEB_CONCURRENCY)
#   worker     flask hub worker (arguments follow: -n 4 --max-jobs 500)
#   scheduler  flask hub schedule --loop
#   migrate    flask hub init-db (once per release, before the other roles start)
#   check      flask hub check (the start-up check, in full)
#   *          any flask hub command, e.g. `rotate-keys`, `status`, `--version`
# Every role runs as the container's main process (exec): SIGTERM reaches it directly.
set -eu
role="${1:-web}"
[ "$#" -gt 0 ] && shift
if [ -n "${PROMETHEUS_MULTIPROC_DIR:-}" ]; then
    mkdir -p "$PROMETHEUS_MULTIPROC_DIR"
fi
case "$role" in
    web) exec gunicorn --config "${HUB_GUNICORN_CONFIG:-/etc/hub/gunicorn.conf.py}" "$@" 'hub.app:create_app()' ;;
    worker) exec flask hub worker "$@" ;;
    scheduler) exec flask hub schedule --loop "$@" ;;
    migrate) exec flask hub init-db "$@" ;;
    check) exec flask hub check "$@" ;;
    *) exec flask hub "$role" "$@" ;;
esac
