-- One database and one role per service (each service owns its database, nothing else).
-- Runs once, when the PostgreSQL volume is new. Laptop passwords only.
CREATE ROLE catalog LOGIN PASSWORD 'catalog';
CREATE ROLE booking LOGIN PASSWORD 'booking';
CREATE ROLE import LOGIN PASSWORD 'import';
CREATE ROLE payments LOGIN PASSWORD 'payments';
CREATE DATABASE passculture_catalog OWNER catalog;
CREATE DATABASE passculture_booking OWNER booking;
CREATE DATABASE passculture_import OWNER import;
CREATE DATABASE passculture_payments OWNER payments;
REVOKE CONNECT ON DATABASE passculture_catalog FROM PUBLIC;
REVOKE CONNECT ON DATABASE passculture_booking FROM PUBLIC;
REVOKE CONNECT ON DATABASE passculture_import FROM PUBLIC;
REVOKE CONNECT ON DATABASE passculture_payments FROM PUBLIC;
-- The catalog's nearby search (its first migration creates them too, as the owner).
\connect passculture_catalog
CREATE EXTENSION IF NOT EXISTS cube;
CREATE EXTENSION IF NOT EXISTS earthdistance;
