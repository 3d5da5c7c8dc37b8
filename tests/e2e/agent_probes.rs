//! Agent probes against real peers (issue 3); filled in by the agent work.
