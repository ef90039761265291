//! Long searches that outlive a tool call: a bounded, in-memory registry.
//!
//! A job lives in the memory of the sidecar that started it and nowhere else: a job whose
//! sidecar is gone says so (`lost`) instead of pretending. The registry never grows without
//! bound: it holds at most [`Jobs::CAPACITY`] jobs; a finished job is forgotten once its result
//! has been read, or [`Jobs::KEEP_FOR`] after it finished if nobody reads it; and when the
//! registry is full of running jobs a new one is refused with a message saying so.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::Error;

#[derive(Debug, Deserialize, JsonSchema)]
pub struct GetJobParams {
    /// The job_id a tool returned.
    pub job_id: String,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct JobOut {
    pub job_id: String,
    pub tool: String,
    /// running, done, failed or lost.
    pub status: String,
    pub done: usize,
    pub total: usize,
    pub started: Option<DateTime<Utc>>,
    /// The tool's answer, when done.
    pub result: Option<Value>,
    pub error: Option<String>,
}

#[derive(Debug)]
enum State {
    Running,
    Done(Value),
    Failed(String),
}

#[derive(Debug)]
struct Job {
    tool: &'static str,
    started: DateTime<Utc>,
    total: usize,
    progress: Arc<AtomicUsize>,
    /// The state, and when it stopped running.
    state: Arc<Mutex<(State, Option<Instant>)>>,
}

impl Job {
    fn finished_at(&self) -> Option<Instant> {
        self.state.lock().map_or(Some(Instant::now()), |s| s.1)
    }
}

/// The registry. One per sidecar; cheap to share behind an `Arc` or a static.
#[derive(Debug)]
pub struct Jobs {
    jobs: Mutex<HashMap<String, Job>>,
    next: AtomicUsize,
    capacity: usize,
    keep_for: Duration,
}

impl Default for Jobs {
    fn default() -> Self {
        Self::new(Self::CAPACITY, Self::KEEP_FOR)
    }
}

impl Jobs {
    /// Jobs held at once, running or finished and unread.
    pub const CAPACITY: usize = 64;
    /// How long a finished job's result waits to be read.
    pub const KEEP_FOR: Duration = Duration::from_secs(3600);

    pub fn new(capacity: usize, keep_for: Duration) -> Self {
        Self {
            jobs: Mutex::new(HashMap::new()),
            next: AtomicUsize::new(1),
            capacity: capacity.max(1),
            keep_for,
        }
    }

    fn prefix() -> String {
        format!("job-{}-", std::process::id())
    }

    /// Jobs held now (running, or finished and not yet read or expired).
    pub fn len(&self) -> usize {
        self.jobs.lock().map_or(0, |mut jobs| {
            self.expire(&mut jobs);
            jobs.len()
        })
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn expire(&self, jobs: &mut HashMap<String, Job>) {
        let keep_for = self.keep_for;
        jobs.retain(|_, job| job.finished_at().is_none_or(|at| at.elapsed() < keep_for));
    }

    /// Starts `work` on the blocking pool and returns the job's id. `work` counts what it has
    /// done (of `total`) in the counter it is given.
    pub fn start(
        &self,
        tool: &'static str,
        total: usize,
        work: impl FnOnce(&AtomicUsize) -> Result<Value, Error> + Send + 'static,
    ) -> Result<String, Error> {
        let mut jobs = self
            .jobs
            .lock()
            .map_err(|_| Error::Failed("the job table is unavailable".into()))?;
        self.expire(&mut jobs);
        if jobs.len() >= self.capacity {
            // Full: make room by forgetting the oldest finished, unread job, if there is one.
            let oldest = jobs
                .iter()
                .filter_map(|(id, job)| job.finished_at().map(|at| (at, id.clone())))
                .min();
            match oldest {
                Some((_, id)) => {
                    jobs.remove(&id);
                }
                None => {
                    return Err(Error::Invalid(format!(
                        "{} searches are already running in the background, the most this \
                         desk runs at once; wait for one to finish (get_job) and try again",
                        jobs.len()
                    )));
                }
            }
        }
        let id = format!(
            "{}{}",
            Self::prefix(),
            self.next.fetch_add(1, Ordering::Relaxed)
        );
        let progress = Arc::new(AtomicUsize::new(0));
        let state = Arc::new(Mutex::new((State::Running, None)));
        jobs.insert(
            id.clone(),
            Job {
                tool,
                started: Utc::now(),
                total,
                progress: progress.clone(),
                state: state.clone(),
            },
        );
        tokio::task::spawn_blocking(move || {
            let result = work(&progress);
            if let Ok(mut s) = state.lock() {
                *s = (
                    match result {
                        Ok(v) => State::Done(v),
                        Err(e) => State::Failed(e.to_string()),
                    },
                    Some(Instant::now()),
                );
            }
        });
        Ok(id)
    }

    /// Progress of a job, and its answer once it has finished — given once: a finished job is
    /// forgotten when it has been read.
    pub fn get(&self, id: &str) -> Result<JobOut, Error> {
        let mut jobs = self
            .jobs
            .lock()
            .map_err(|_| Error::Failed("the job table is unavailable".into()))?;
        self.expire(&mut jobs);
        let Some(job) = jobs.get(id) else {
            return self.unknown(id);
        };
        let (status, result, error) = match job.state.lock().as_deref() {
            Ok((State::Running, _)) => ("running", None, None),
            Ok((State::Done(v), _)) => ("done", Some(v.clone()), None),
            Ok((State::Failed(e), _)) => ("failed", None, Some(e.clone())),
            Err(_) => ("failed", None, Some("the job crashed".to_string())),
        };
        let done = if status == "done" {
            job.total
        } else {
            job.progress.load(Ordering::Relaxed)
        };
        let out = JobOut {
            job_id: id.to_string(),
            tool: job.tool.to_string(),
            status: status.into(),
            done,
            total: job.total,
            started: Some(job.started),
            result,
            error,
        };
        if status != "running" {
            jobs.remove(id);
        }
        Ok(out)
    }

    fn unknown(&self, id: &str) -> Result<JobOut, Error> {
        let ours = Self::prefix();
        let lost = |error: &str| JobOut {
            job_id: id.to_string(),
            tool: String::new(),
            status: "lost".into(),
            done: 0,
            total: 0,
            started: None,
            result: None,
            error: Some(error.into()),
        };
        match id.strip_prefix(&ours).map(str::parse::<usize>) {
            Some(Ok(n)) if n > 0 && n < self.next.load(Ordering::Relaxed) => Ok(lost(
                "this job's result was already read, or it finished more than an hour ago and \
                 was not kept; run the tool again",
            )),
            None if id.starts_with("job-") => Ok(lost(
                "this job ran in a QuantDesk sidecar that has since stopped (or is another \
                 process); its result is lost — run the tool again",
            )),
            _ => Err(Error::Invalid(format!("there is no job '{id}'"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn finished(jobs: &Jobs, id: &str) -> JobOut {
        for _ in 0..500 {
            let out = jobs.get(id).unwrap();
            if out.status != "running" {
                return out;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        panic!("job {id} never finished");
    }

    #[tokio::test]
    async fn a_result_is_given_once_then_forgotten() {
        let jobs = Jobs::default();
        let id = jobs.start("t", 3, |p| {
            p.store(3, Ordering::Relaxed);
            Ok(Value::from(42))
        });
        let id = id.unwrap();
        let out = finished(&jobs, &id).await;
        assert_eq!(
            (out.status.as_str(), out.result),
            ("done", Some(Value::from(42)))
        );
        assert!(jobs.is_empty(), "read jobs are dropped");
        let again = jobs.get(&id).unwrap();
        assert_eq!(again.status, "lost");
        assert!(again.error.unwrap().contains("already read"));
        assert!(jobs.get("nonsense").is_err());
        assert_eq!(jobs.get("job-1-1").unwrap().status, "lost");
    }

    #[tokio::test]
    async fn unread_results_expire_and_the_table_stays_bounded() {
        let jobs = Jobs::new(4, Duration::from_millis(50));
        let mut ids = Vec::new();
        for i in 0..4 {
            ids.push(jobs.start("t", 1, move |_| Ok(Value::from(i))).unwrap());
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        // Full of finished, unread jobs: a fifth pushes out the oldest, the table stays at 4.
        let fifth = jobs.start("t", 1, |_| Ok(Value::Null)).unwrap();
        assert_eq!(jobs.len(), 4);
        assert!(!ids.contains(&fifth));
        assert_eq!(jobs.get(&ids[0]).unwrap().status, "lost", "the oldest went");
        assert_eq!(finished(&jobs, &fifth).await.status, "done");
        tokio::time::sleep(Duration::from_millis(120)).await;
        assert!(
            jobs.is_empty(),
            "an hour (here 50 ms) after finishing, unread jobs go"
        );
    }

    #[tokio::test]
    async fn a_table_full_of_running_jobs_refuses_more() {
        let jobs = Jobs::new(2, Jobs::KEEP_FOR);
        let gate = Arc::new(std::sync::Barrier::new(3));
        for _ in 0..2 {
            let g = gate.clone();
            jobs.start("t", 1, move |_| {
                g.wait();
                Ok(Value::Null)
            })
            .unwrap();
        }
        let err = jobs.start("t", 1, |_| Ok(Value::Null)).unwrap_err();
        assert!(err.to_string().contains("already running"), "{err}");
        gate.wait();
    }
}
