-- One database and one role per service (the passwords of the dev overlay's Secrets).
CREATE ROLE catalog LOGIN PASSWORD 'catalog-dev';
CREATE ROLE booking LOGIN PASSWORD 'booking-dev';
CREATE ROLE import LOGIN PASSWORD 'import-dev';
CREATE ROLE payments LOGIN PASSWORD 'payments-dev';
CREATE DATABASE passculture_catalog OWNER catalog;
CREATE DATABASE passculture_booking OWNER booking;
CREATE DATABASE passculture_import OWNER import;
CREATE DATABASE passculture_payments OWNER payments;
REVOKE CONNECT ON DATABASE passculture_catalog FROM PUBLIC;
REVOKE CONNECT ON DATABASE passculture_booking FROM PUBLIC;
REVOKE CONNECT ON DATABASE passculture_import FROM PUBLIC;
REVOKE CONNECT ON DATABASE passculture_payments FROM PUBLIC;
\connect passculture_catalog
CREATE EXTENSION IF NOT EXISTS cube;
CREATE EXTENSION IF NOT EXISTS earthdistance;
