import sys

from flux.cmd.main import main

sys.exit(main())
