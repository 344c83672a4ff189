/* placeholder until the runtime lands */
int mctr_runtime_placeholder_(void);
int mctr_runtime_placeholder_(void) { return 0; }
