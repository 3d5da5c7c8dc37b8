//! deploy/switch-traffic against real HAProxy and nginx (issue 5); filled in by the switch work.
