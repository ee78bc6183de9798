//! The scheduler: timing under tokio's paused clock (fake runners that only sleep), real runs
//! of the engine against the local folder and the emulators with the metrics endpoint
//! scraped, and the rendered CronJobs (snapshot, hardening, kubernetes-validate).

mod render;
mod run;
mod timing;
