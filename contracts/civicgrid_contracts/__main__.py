import sys

from civicgrid_contracts.cli import main

sys.exit(main())
