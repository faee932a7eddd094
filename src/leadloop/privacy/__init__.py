"""Personal data under PIPL: erasing a person (`leadloop forget`) and keeping them out afterwards."""
