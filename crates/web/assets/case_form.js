// The case form: choosing a region opens that unit's roster, so its officers are at hand.
(function () {
  const region = document.getElementById('f-region_code');
  if (!region) return;
  region.addEventListener('change', () => {
    for (const d of document.querySelectorAll('.roster-pick details')) {
      const picked = d.querySelector('input:checked') !== null;
      d.open = d.dataset.region === region.value || picked;
    }
  });
})();
