"""Episode monitoring (SB2's ``bench`` package)."""
from stable_ppo2.bench.monitor import LoadMonitorResultsError, Monitor, get_monitor_files, load_results

__all__ = ["Monitor", "load_results", "get_monitor_files", "LoadMonitorResultsError"]
