-- docker-compose.yml only: the agents reach PostgreSQL over TCP, so role
-- greenlight (deploy/postgres/setup.sql) needs a password. Change both here
-- and in the compose file's GREENLIGHT_CHECKS__POSTGRES__URL.
ALTER ROLE greenlight PASSWORD 'greenlight';
