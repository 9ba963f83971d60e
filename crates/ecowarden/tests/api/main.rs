//! One integration-test binary (zero2prod style): each test starts the real server on port 0
//! over a fresh copy of a seeded store. SQLite always; PostgreSQL when `TEST_DATABASE_URL`
//! names a server (each test then gets its own database).

mod assess;
mod assess_pages;
mod audit;
mod auth_flow;
mod bad_input;
mod checks;
mod dashboard;
mod helpers;
mod individual;
mod leads;
mod ledger;
mod ledger_io;
mod list;
mod load;
mod monitoring;
mod review;
mod routes;
mod security;
mod store;
