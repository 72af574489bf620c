pub mod aggregations;
pub mod events;
pub mod export;
pub mod fetch;
pub mod health;
pub mod sources;
pub mod webhooks;
