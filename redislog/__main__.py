# Ctrl-C from here on ends the program quietly, even while redislog.cli is
# still being found and loaded (main() then installs its own handler).
import _signal  # type: ignore[import-not-found]
import os

_signal.signal(_signal.SIGINT, lambda signum, frame: os._exit(130))

from redislog.cli import main  # noqa: E402

main()
