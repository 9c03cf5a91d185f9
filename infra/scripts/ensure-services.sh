#!/usr/bin/env bash
# Makes sure the servers the project needs on this machine are there: PostgreSQL and Redis (started
# if installed but stopped), and the JDK + Maven that infra/kafka/kafka.sh uses to fetch and run the
# Kafka broker (installed from Debian's packages if missing). Idempotent; prints what it did.
set -euo pipefail

log() { echo "ensure-services: $*"; }

need_apt=()
command -v java >/dev/null 2>&1 || need_apt+=(openjdk-17-jre-headless)
command -v mvn >/dev/null 2>&1 || need_apt+=(maven)
if [ "${#need_apt[@]}" -gt 0 ]; then
  log "installing ${need_apt[*]}"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

pg_host=127.0.0.1; pg_port=5432
if [ -n "${DATABASE_URL:-}" ]; then
  hostport=$(node -e 'const u=new URL(process.argv[1]);console.log(`${u.hostname} ${u.port||5432}`)' "$DATABASE_URL")
  pg_host=${hostport% *}; pg_port=${hostport#* }
fi
if (exec 3<>"/dev/tcp/$pg_host/$pg_port") 2>/dev/null; then
  log "postgres answers on $pg_host:$pg_port"
elif command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
  log "starting postgres"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start
else
  log "postgres is not reachable on $pg_host:$pg_port and not installed here; set DATABASE_URL"; exit 1
fi

redis_url=${REDIS_URL:-redis://127.0.0.1:6379}
hostport=$(node -e 'const u=new URL(process.argv[1]);console.log(`${u.hostname} ${u.port||6379}`)' "$redis_url")
r_host=${hostport% *}; r_port=${hostport#* }
if (exec 3<>"/dev/tcp/$r_host/$r_port") 2>/dev/null; then
  log "redis answers on $r_host:$r_port"
elif command -v redis-server >/dev/null 2>&1; then
  log "starting redis"
  mkdir -p /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port "$r_port" --save "" --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log
else
  log "redis is not reachable on $r_host:$r_port and not installed here; set REDIS_URL"; exit 1
fi
