//! Issue 11, traces: OTLP export from the agent and the aggregator, one
//! report's path one trace.

mod report_trace;
