mod debian/gearbox.ini
