-- The PostgreSQL side of greenlight: the role the agent's postgres check logs
-- in as, with the least it needs, and the EscaShop database if it is missing.
--
-- Run once, as the PostgreSQL superuser, with psql (it uses \gexec):
--   sudo -u postgres psql -v ON_ERROR_STOP=1 -f deploy/postgres/setup.sql
-- Running it again changes nothing.
--
-- What the check runs (agent/src/probe/postgres/): it keeps one connection
-- open to database escashop and sends `SELECT 1` every round, and every 10th
-- round `SELECT count(*) ... FROM pg_stat_activity` and
-- current_setting('max_connections'). Any role may run those: no table, no
-- schema and no pg_monitor membership is needed, so the role gets none.
--
-- How it logs in: deploy/agent-*.toml connect over the Unix socket in
-- /run/postgresql as role greenlight, which Debian's pg_hba.conf lets the
-- system user of the same name in without a password (`local all all peer`);
-- the systemd units run the agent as that user. Over TCP instead, give it a
-- password (ALTER ROLE greenlight PASSWORD '...') and put it in the URL, as
-- deploy/compose and deploy/kubernetes do.

-- The application's role and database, only when they do not exist yet (the
-- EscaShop guide's setup normally made them). Set the role's password for the
-- application with \password escashop.
SELECT 'CREATE ROLE escashop LOGIN'
WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'escashop')
\gexec
SELECT 'CREATE DATABASE escashop OWNER escashop'
WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'escashop')
\gexec

-- The agent's role: it may log in, and nothing else.
SELECT 'CREATE ROLE greenlight LOGIN'
WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'greenlight')
\gexec
ALTER ROLE greenlight WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT
    NOREPLICATION NOBYPASSRLS
    -- One connection per agent; room for blue's and green's agents on one
    -- host and a reconnect overlapping the old connection.
    CONNECTION LIMIT 8;
-- A probe never writes and never runs long.
ALTER ROLE greenlight SET default_transaction_read_only = on;
ALTER ROLE greenlight SET statement_timeout = '5s';
-- CONNECT is PUBLIC's by default; granted by name so that it still holds
-- where an administrator revoked it from PUBLIC.
GRANT CONNECT ON DATABASE escashop TO greenlight;
-- PostgreSQL 15 and later (Debian 12 has 15) give PUBLIC no CREATE on schema
-- public, so the role can create nothing. On older versions PUBLIC can:
-- `REVOKE CREATE ON SCHEMA public FROM PUBLIC;` in database escashop, if the
-- application does not rely on it.
