/* placeholder until the reference parser lands */
int mctr_image_placeholder_(void);
int mctr_image_placeholder_(void) { return 0; }
