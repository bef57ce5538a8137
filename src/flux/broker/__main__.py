import sys

from flux.broker.broker import main

sys.exit(main())
