pub mod events;
pub mod fetch;
pub mod health;
pub mod me;
pub mod sources;
pub mod webhooks;
