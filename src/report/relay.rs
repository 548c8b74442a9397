//! Reading on one thread, storing on another: a [`ReportSink`] that relays
//! its calls over a bounded channel to a sink on the calling thread, so that
//! parsing (CPU) and SQLite inserts overlap. Records travel in batches; a
//! header waits for the other side's answer (a duplicate is skipped before
//! its records are sent). Batches go back to the reading thread once stored,
//! so that it frees what it allocated and reuses them (freeing on the other
//! thread costs the storing side, the busier one). Memory stays bounded by
//! the channels: a few batches of records.

use super::{Flow, Record, ReportError, ReportHeader, ReportSink};
use std::sync::mpsc::{self, Receiver, SyncSender};

/// Records per message on the channel.
const BATCH: usize = 256;
/// Messages in flight before the reader waits for the writer.
const IN_FLIGHT: usize = 16;

enum Call {
    Header(Box<ReportHeader>),
    Records(Vec<Record>),
    End(Vec<String>),
    Failed(ReportError),
}

/// The storing side went away (its sink failed): stop reading.
#[derive(Debug)]
pub struct Disconnected;

/// Why [`relay`] failed.
#[derive(Debug)]
pub enum RelayError<E> {
    /// The sink on this thread failed.
    Sink(E),
    /// The reading side stopped for want of the sink with no sink error
    /// (a bug, never expected).
    Lost,
}

/// The reading thread's sink.
pub struct RelaySink {
    calls: SyncSender<Call>,
    flows: Receiver<Flow>,
    /// Batches the storing side is done with.
    used: Receiver<Vec<Record>>,
    batch: Vec<Record>,
}

impl RelaySink {
    fn flush(&mut self) -> Result<(), Disconnected> {
        if self.batch.is_empty() {
            return Ok(());
        }
        let next = match self.used.try_recv() {
            Ok(mut used) => {
                used.clear();
                used
            }
            Err(_) => Vec::with_capacity(BATCH),
        };
        let batch = std::mem::replace(&mut self.batch, next);
        self.calls
            .send(Call::Records(batch))
            .map_err(|_| Disconnected)
    }

    fn send(&mut self, call: Call) -> Result<(), Disconnected> {
        self.flush()?;
        self.calls.send(call).map_err(|_| Disconnected)
    }
}

impl ReportSink for RelaySink {
    type Error = Disconnected;

    fn header(&mut self, header: &ReportHeader) -> Result<Flow, Disconnected> {
        self.send(Call::Header(Box::new(header.clone())))?;
        self.flows.recv().map_err(|_| Disconnected)
    }

    fn record(&mut self, record: Record) -> Result<(), Disconnected> {
        self.batch.push(record);
        if self.batch.len() >= BATCH {
            self.flush()?;
        }
        Ok(())
    }

    fn end(&mut self, warnings: Vec<String>) -> Result<(), Disconnected> {
        self.send(Call::End(warnings))
    }

    fn failed(&mut self, error: ReportError) -> Result<(), Disconnected> {
        self.send(Call::Failed(error))
    }
}

/// Run `read` on a new thread with a [`RelaySink`] while `sink` takes its
/// calls on this one. Returns what `read` returned, or the first error of
/// `sink` (after which `read` stops at its next call).
pub fn relay<T, S, F>(sink: &mut S, read: F) -> Result<T, RelayError<S::Error>>
where
    T: Send,
    S: ReportSink,
    F: FnOnce(&mut RelaySink) -> Result<T, Disconnected> + Send,
{
    let (calls_tx, calls) = mpsc::sync_channel(IN_FLIGHT);
    let (flows, flows_rx) = mpsc::sync_channel(1);
    let (used, used_rx) = mpsc::sync_channel(IN_FLIGHT);
    std::thread::scope(|scope| {
        let reader = scope.spawn(move || {
            let mut relay = RelaySink {
                calls: calls_tx,
                flows: flows_rx,
                used: used_rx,
                batch: Vec::with_capacity(BATCH),
            };
            let read = read(&mut relay);
            read.and_then(|t| relay.flush().map(|()| t))
        });
        let mut failure = None;
        // Ends when the reader is done (its sender dropped) or on an error.
        for call in calls.iter() {
            let applied = match call {
                Call::Header(h) => sink.header(&h).map(|flow| {
                    // The reader may have stopped already: nothing to tell.
                    let _ = flows.send(flow);
                }),
                Call::Records(mut batch) => {
                    let stored = sink.records(&mut batch);
                    // Full, or the reader is gone: freed here instead.
                    let _ = used.try_send(batch);
                    stored
                }
                Call::End(warnings) => sink.end(warnings),
                Call::Failed(error) => sink.failed(error),
            };
            if let Err(e) = applied {
                failure = Some(e);
                break;
            }
        }
        // Unblock a reader waiting to send or for a header's answer.
        drop(calls);
        drop(flows);
        drop(used);
        let read = match reader.join() {
            Ok(read) => read,
            Err(panic) => std::panic::resume_unwind(panic),
        };
        match (failure, read) {
            (Some(e), _) => Err(RelayError::Sink(e)),
            (None, Ok(t)) => Ok(t),
            (None, Err(Disconnected)) => Err(RelayError::Lost),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{parse, Collect, ParseOptions};

    fn report(records: usize) -> String {
        let mut s = String::from(
            "<feedback><report_metadata><org_name>x</org_name><report_id>1</report_id>\
             <date_range><begin>1</begin><end>2</end></date_range></report_metadata>\
             <policy_published><domain>example.com</domain></policy_published>",
        );
        for i in 0..records {
            s.push_str(&format!(
                "<record><row><source_ip>192.0.2.{}</source_ip><count>{}</count></row></record>",
                i % 250,
                i + 1
            ));
        }
        s + "</feedback>"
    }

    #[test]
    fn relayed_reports_arrive_whole_and_in_order() {
        let xml = report(1000);
        let mut sink = Collect::default();
        let stats = relay(&mut sink, |relay_sink| {
            parse(xml.as_bytes(), &ParseOptions::default(), relay_sink)
        })
        .expect("relay works");
        assert_eq!(stats.records, 1000);
        let got = sink.reports.pop().expect("one report").expect("parsed");
        assert_eq!(got.records.len(), 1000);
        assert_eq!(got.records[999].count, 1000);
        assert_eq!(got.records[3].source_ip.as_deref(), Some("192.0.2.3"));
    }

    /// A sink that fails at the n-th record.
    struct FailAt(usize, usize);

    impl ReportSink for FailAt {
        type Error = String;
        fn header(&mut self, _: &ReportHeader) -> Result<Flow, String> {
            Ok(Flow::Records)
        }
        fn record(&mut self, _: Record) -> Result<(), String> {
            self.1 += 1;
            if self.1 == self.0 {
                Err("disk full".into())
            } else {
                Ok(())
            }
        }
        fn end(&mut self, _: Vec<String>) -> Result<(), String> {
            Ok(())
        }
        fn failed(&mut self, _: ReportError) -> Result<(), String> {
            Ok(())
        }
    }

    #[test]
    fn a_failing_sink_stops_the_reader_and_its_error_is_returned() {
        let xml = report(50_000);
        let mut sink = FailAt(300, 0);
        let err = relay(&mut sink, |relay_sink| {
            parse(xml.as_bytes(), &ParseOptions::default(), relay_sink)
        })
        .expect_err("sink error");
        assert!(matches!(err, RelayError::Sink(ref e) if e == "disk full"));
        assert_eq!(sink.1, 300, "no record is applied after the failure");
    }
}
