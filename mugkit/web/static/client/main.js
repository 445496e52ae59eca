// Entry point of the participant's page (mugkit/web/templates/page.html): connect, then let the
// app show what the server sends.

import {App} from "./app.js";
import {createLink, openSocket} from "./connection.js";

const root = document.getElementById("mugkit");
const experiment = document.body.dataset.experiment;
const link = createLink(openSocket(experiment));
new App(root, {experiment, link});
