import sys

from seqdraw.cli import main

sys.exit(main())
