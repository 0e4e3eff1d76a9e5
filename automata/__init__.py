"""framelogic.automata: formulas to minimal DFAs; evaluate, localize and monitor over frames."""
